"""skills/scripted"""
