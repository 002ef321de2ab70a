"""Passages to vectors and back: encoders, FAISS and BM25 stores, index generations, hybrid search."""
