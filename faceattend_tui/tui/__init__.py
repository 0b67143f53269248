"""The Textual front end of the station (the only part of faceattend that imports Textual)."""
