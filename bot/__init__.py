"""Qinqing Bridge (亲情桥): the application, its settings and the care logic."""
