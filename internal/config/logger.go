package config

import (
	"io"
	"log/slog"
)

// Logger builds the process logger: JSON for CloudWatch (and by default),
// text when a developer asks for it on a terminal.
func (c Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
