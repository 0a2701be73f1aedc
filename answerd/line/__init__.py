"""The line: the serial port (termios, modem-control lines) and the UUCP lock that says who owns it."""
