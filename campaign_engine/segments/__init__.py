"""Segments: definitions, the compiler to SQL, previews and target lists."""
