"""One connected call: the stages after CONNECT, screening, the supervised program, utmp."""
