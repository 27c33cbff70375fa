"""Search over every kind of document: the query language (`query`), the index the write
services keep (`index`), the readers' search (`service`) and related documents
(`related`). Each kind app declares what it indexes in its own `search.py`."""
