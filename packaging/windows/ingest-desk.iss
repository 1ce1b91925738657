; Inno Setup 6 script: per-user Ingest Desk installer (no admin rights), Start-menu entry,
; uninstaller, and "Open with" registration for spreadsheet files in HKCU\Software\Classes.
;
; Build with packaging\windows\build.ps1, or by hand after the PyInstaller build:
;   ISCC.exe /DAppVersion=0.1.0 packaging\windows\ingest-desk.iss
; Without /DAppVersion the version is read from ingest-desk.exe's version resource, which the
; spec writes from app.__version__.

#define AppName "Ingest Desk"
#define AppExeName "ingest-desk.exe"
#define AppPublisher "Ingest Desk"
#define ProgId "IngestDesk.Spreadsheet"
; Paths are relative to this script's folder.
#define BundleDir AddBackslash(SourcePath) + "..\..\dist\ingest-desk"
#if !FileExists(BundleDir + "\" + AppExeName)
  #error "dist\ingest-desk\ingest-desk.exe not found: build the bundle first (build.ps1 does)"
#endif
#ifndef AppVersion
  #define AppVersion GetFileProductVersionString(BundleDir + "\" + AppExeName)
#endif
; Windows' numeric four-part form of the same version, from the exe's fixed version block.
#define AppVersionNumbers GetVersionNumbersString(BundleDir + "\" + AppExeName)

[Setup]
; AppId identifies the installation for upgrades and the uninstaller: never change it.
AppId={{6F3C7A52-9E1B-4C7D-A8E4-2B5D0F1C9A37}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
VersionInfoVersion={#AppVersionNumbers}
; Per-user install: no UAC prompt, files under %LOCALAPPDATA%\Programs, registry under HKCU.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
; Refresh Explorer's file associations after install and uninstall.
ChangesAssociations=yes
CloseApplications=yes
SetupIconFile=..\icons\ingest-desk.ico
UninstallDisplayIcon={app}\{#AppExeName}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
OutputDir=..\..\dist
OutputBaseFilename=IngestDesk-{#AppVersion}-windows-x64-setup

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "openwith"; Description: "Offer {#AppName} in Explorer's ""Open with"" menu for .csv, .tsv, .xlsx, .xls and .ods files"; GroupDescription: "File types:"

[InstallDelete]
; A new version may drop files; stale DLLs beside the new ones confuse the frozen app.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExeName}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExeName}"; Tasks: desktopicon

[Registry]
; The ProgID that "Open with" entries point at. It never becomes the default handler: Excel
; keeps the double-click, Ingest Desk is offered next to it.
Root: HKCU; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "Spreadsheet ({#AppName})"; Flags: uninsdeletekey; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExeName},0"; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExeName}"" ""%1"""; Tasks: openwith
; Each extension lists the ProgID under OpenWithProgids (an empty REG_SZ value named after it).
Root: HKCU; Subkey: "Software\Classes\.csv\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\.tsv\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\.xlsx\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\.xls\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\.ods\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
; The application registration: a friendly name in "Open with" and the types it supports.
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExeName},0"; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExeName}"" ""%1"""; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}\SupportedTypes"; ValueType: string; ValueName: ".csv"; ValueData: ""; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}\SupportedTypes"; ValueType: string; ValueName: ".tsv"; ValueData: ""; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}\SupportedTypes"; ValueType: string; ValueName: ".xlsx"; ValueData: ""; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}\SupportedTypes"; ValueType: string; ValueName: ".xls"; ValueData: ""; Tasks: openwith
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExeName}\SupportedTypes"; ValueType: string; ValueName: ".ods"; ValueData: ""; Tasks: openwith

[Run]
Filename: "{app}\{#AppExeName}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
