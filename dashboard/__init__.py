"""Gateway (serial decode, journal, stores, InfluxDB) and the Streamlit dashboard."""
