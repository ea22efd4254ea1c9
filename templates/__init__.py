"""Message templates: the sandboxed template environment, rendering and starter templates."""
