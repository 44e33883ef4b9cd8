"""The dashboard's pages (run by ``st.navigation`` in ``streamlit_app.py``) and what they share (``common``)."""
