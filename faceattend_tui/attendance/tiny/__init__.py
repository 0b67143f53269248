"""The attendance log as one TinyDB file, in parts; `store.TinyStore` puts them together.

* `files`   - reading and writing the log's files (the document, JSON-line journals)
* `journal` - loading, journaling each write, folding the journal into the file, closing
* `tables`  - the document in memory, its indexes, and the ops that change it
* `queries` - settings, people, sessions, check-ins, marks, presence, audit
"""
