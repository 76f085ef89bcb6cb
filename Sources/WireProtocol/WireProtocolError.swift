enum _WireTmp {}
