"""CSV and XLSX exports of an account's or a video's analytics.

HTTP routes (``routes.py``), download links with a token for one file
(``links.py``, ``exportLink`` in GraphQL), the command line (``cli.py``).
The numbers come from the read-model queries the GraphQL API calls
(``reading.py``), laid out as tables (``tables.py``) and written as CSV
(``csvfile.py``) or XLSX (``xlsxfile.py``).

The app mounts ``routes.export_routes()`` and the ``service.RequestScope`` middleware.
"""
