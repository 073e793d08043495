"""The Textual terminal app. Importing it loads textual only; models load in its workers."""
