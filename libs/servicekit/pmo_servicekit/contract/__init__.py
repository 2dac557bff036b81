"""The HTTP contract every service follows (docs/api.md): wire formats, pages, problems, the document."""
