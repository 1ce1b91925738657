"""Desktop user interface (PySide6). Never imports boto3, httpx, sqlalchemy, psycopg or polars."""

# Settings (and with them pydantic) load before any PySide6 module: PySide6's import hook inspects
# each newly imported module, and pydantic's lazily resolved attributes then import themselves in
# a cycle ("cannot import name 'import_string'"). Loaded first, pydantic is complete by then.
import app.services.settings  # noqa: F401
