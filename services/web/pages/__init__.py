"""The site's areas; each lists its routes (werkzeug Rules whose endpoints take the Page)."""
