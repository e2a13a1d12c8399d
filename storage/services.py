"""Storage services (being written): namespaces, uploads, listing, deletes."""
