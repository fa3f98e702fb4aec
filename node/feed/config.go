package feed

import (
	"fmt"
	"net/http"
	"time"
)

// Config tunes a [Hub]. The zero value is valid: [Config.Validate] fills every zero field with
// its default.
type Config struct {
	// Buffer is the number of live messages queued per connection (default 256). A subscriber
	// that falls this far behind is closed with code 1008 and told where to resume.
	Buffer int
	// Heartbeat is how long a connection may stay quiet before the feed sends
	// {"kind":"heartbeat","index":N} (default 15 s).
	Heartbeat time.Duration
	// WriteTimeout bounds every frame write (default 10 s); a client that cannot take a frame in
	// that time is dropped without a close frame.
	WriteTimeout time.Duration
	// PongWait is how long the feed waits for any frame (normally a pong) from the client
	// before dropping it (default 60 s). Pings go out every 9/10 of PongWait.
	PongWait time.Duration
	// CheckOrigin decides whether a browser's Origin may open the websocket. Nil uses
	// gorilla/websocket's default: an Origin header, when present, must match the Host.
	CheckOrigin func(*http.Request) bool
	// Metrics receives the feed's metrics; nil records nothing.
	Metrics *Metrics
}

// Defaults of [Config].
const (
	DefaultBuffer       = 256
	DefaultHeartbeat    = 15 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultPongWait     = 60 * time.Second
)

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	c := Config{}
	_ = c.Validate()
	return c
}

// Validate fills zero fields with their defaults and returns the first broken rule, naming
// the field; errors wrap [ErrBadConfig].
func (c *Config) Validate() error {
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.PongWait == 0 {
		c.PongWait = DefaultPongWait
	}
	switch {
	case c.Buffer < 1 || c.Buffer > 1<<20:
		return fmt.Errorf("checking Buffer %d: must be 1 to 1048576: %w", c.Buffer, ErrBadConfig)
	case c.Heartbeat < 10*time.Millisecond:
		return fmt.Errorf("checking Heartbeat %v: must be at least 10ms: %w", c.Heartbeat, ErrBadConfig)
	case c.WriteTimeout < time.Millisecond:
		return fmt.Errorf("checking WriteTimeout %v: must be at least 1ms: %w", c.WriteTimeout, ErrBadConfig)
	case c.PongWait < 10*time.Millisecond:
		return fmt.Errorf("checking PongWait %v: must be at least 10ms: %w", c.PongWait, ErrBadConfig)
	}
	return nil
}

func (c *Config) pingPeriod() time.Duration { return c.PongWait * 9 / 10 }
