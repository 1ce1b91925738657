"""PyInstaller entry script: the frozen `ingest-desk` executable runs the same `app.cli:main`."""

from app.cli import main

if __name__ == "__main__":
    main()
