"""Task permits: itsdangerous-signed bearer tokens bound to one installation, project and task."""
