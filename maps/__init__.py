"""Folium web maps of planning layers, check results and the ecological security pattern."""
