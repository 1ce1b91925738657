"""Desktop user interface (PySide6). Never imports boto3, httpx, sqlalchemy, psycopg or polars."""
