"""What the dashboard's pages show, computed without Streamlit: reads, frames, formatting, math, charts."""
