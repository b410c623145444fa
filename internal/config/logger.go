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
		opts.ReplaceAttr = dropMetricsRecord
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// dropMetricsRecord keeps the EMF record (the "_aws" directive and the
// metric and dimension fields beside it, which EMF names in CamelCase while
// our own fields are snake_case) out of text lines: on a terminal it is
// three quarters of every request line and says nothing the line's own
// fields do not. JSON lines keep it, because CloudWatch reads it.
func dropMetricsRecord(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 || a.Key == "" {
		return a
	}
	if a.Key == "_aws" || ('A' <= a.Key[0] && a.Key[0] <= 'Z') {
		return slog.Attr{}
	}
	return a
}
