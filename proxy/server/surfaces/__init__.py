"""The API surfaces: the surface table (``table.py``), each API as one module, one generic handler."""
