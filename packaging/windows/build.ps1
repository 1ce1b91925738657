# Windows: build dist\ingest-desk\ with packaging\ingest-desk.spec, self-test it, optionally sign
# it, and compile the per-user Inno Setup installer dist\IngestDesk-<version>-windows-x64-setup.exe.
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 [-Python py] [-SkipInstaller]
#
# Signing (optional; skipped with a message when unset):
#   WINDOWS_CERTIFICATE_PFX_BASE64   code-signing certificate (.pfx) as base64
#   WINDOWS_CERTIFICATE_PASSWORD     its password
#   WINDOWS_TIMESTAMP_URL            RFC 3161 timestamp server (default http://timestamp.digicert.com)
[CmdletBinding()]
param(
    [string]$Python = "",
    [switch]$SkipInstaller
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root

if (-not $Python) {
    $venv = Join-Path $Root ".venv\Scripts\python.exe"
    $Python = if (Test-Path $venv) { $venv } else { "python" }
}

function Invoke-Checked([string]$File, [string[]]$Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# find_spec prints nothing: Windows PowerShell 5.1 turns a native command's stderr into an error.
& $Python -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('PyInstaller') else 1)"
if ($LASTEXITCODE -ne 0) { Invoke-Checked $Python @("-m", "pip", "install", "--quiet", "pyinstaller>=6") }

$Version = (& $Python -c "import app; print(app.__version__)").Trim()
Write-Host "== Ingest Desk $Version"

Write-Host "== icons (.ico and PNGs from the SVG)"
Invoke-Checked $Python @("packaging\make_icons.py")

Write-Host "== PyInstaller"
Invoke-Checked $Python @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", "dist", "--workpath", "build\pyinstaller", "packaging\ingest-desk.spec")

Write-Host "== self-test of the frozen app (console twin of the windowed exe)"
$env:QT_QPA_PLATFORM = "offscreen"
Invoke-Checked "dist\ingest-desk\ingest-desk-cli.exe" @("--self-test")
Remove-Item Env:QT_QPA_PLATFORM

# --- optional Authenticode signing ---------------------------------------------------------------
$SignTool = $null
$Pfx = $null
if ($env:WINDOWS_CERTIFICATE_PFX_BASE64) {
    $SignTool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" -ErrorAction SilentlyContinue |
        Sort-Object FullName -Descending | Select-Object -First 1 -ExpandProperty FullName
    if (-not $SignTool) { throw "signtool.exe not found (install the Windows 10/11 SDK)" }
    $Pfx = Join-Path $env:TEMP "ingest-desk-signing.pfx"
    [IO.File]::WriteAllBytes($Pfx, [Convert]::FromBase64String($env:WINDOWS_CERTIFICATE_PFX_BASE64))
}
$TimestampUrl = if ($env:WINDOWS_TIMESTAMP_URL) { $env:WINDOWS_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }

function Invoke-Sign([string[]]$Files) {
    if (-not $SignTool) { return }
    Invoke-Checked $SignTool (@("sign", "/f", $Pfx, "/p", $env:WINDOWS_CERTIFICATE_PASSWORD,
        "/fd", "SHA256", "/tr", $TimestampUrl, "/td", "SHA256") + $Files)
}

try {
    if ($SignTool) {
        Write-Host "== signing the executables"
        Invoke-Sign @("dist\ingest-desk\ingest-desk.exe", "dist\ingest-desk\ingest-desk-cli.exe")
    } else {
        Write-Host "skipping code signing: WINDOWS_CERTIFICATE_PFX_BASE64 is not set (SmartScreen will warn users)"
    }

    if ($SkipInstaller) { Write-Host "skipping the installer (-SkipInstaller)"; return }

    Write-Host "== Inno Setup"
    $Iscc = Get-Command iscc.exe -ErrorAction SilentlyContinue | Select-Object -ExpandProperty Source
    if (-not $Iscc) {
        $candidates = @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
                        "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe")
        $Iscc = $candidates | Where-Object { Test-Path $_ } | Select-Object -First 1
    }
    if (-not $Iscc) {
        Write-Host "Inno Setup not found; installing it with Chocolatey"
        Invoke-Checked "choco" @("install", "innosetup", "--yes", "--no-progress")
        $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
    }
    Invoke-Checked $Iscc @("/Qp", "/DAppVersion=$Version", "packaging\windows\ingest-desk.iss")

    $Setup = "dist\IngestDesk-$Version-windows-x64-setup.exe"
    Invoke-Sign @($Setup)
    Write-Host "built $Setup"
} finally {
    if ($Pfx -and (Test-Path $Pfx)) { Remove-Item $Pfx -Force }
}
