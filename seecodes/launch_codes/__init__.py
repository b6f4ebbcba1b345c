"""One-time launch codes for the browser link, exchanged by the IDE for a task permit."""
