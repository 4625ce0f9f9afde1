"""The `modules` package of the A1111 WebUI v1.10.1 test double (see ../README.md).

The real WebUI has no __init__.py here (an implicit namespace package); a regular package
is used so that no other `modules` folder on sys.path can merge into it.
"""
