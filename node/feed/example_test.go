package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/penhub/penhub/node/feed"
)

// log is a toy Source: every entry is readable by everyone.
type log struct {
	mu      sync.Mutex
	entries []feed.Message
	changed chan struct{}
}

func (l *log) Changed() (uint64, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.entries)), l.changed
}

func (l *log) View(_ context.Context, index uint64, _ string) (*feed.Message, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.entries[index]
	return &m, nil
}

func (l *log) append(m feed.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, m)
	close(l.changed)
	l.changed = make(chan struct{})
}

func Example() {
	src := &log{changed: make(chan struct{})}
	hub := feed.NewHub(src, feed.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hub.Run(ctx)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The node authenticates here and parses since; this feed starts at 0.
		since := uint64(0)
		hub.ServeWS(w, r, feed.Subscriber{Authority: "NL"}, &since)
	}))
	defer srv.Close()

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	_, hb, _ := ws.ReadMessage() // the feed is live
	fmt.Println(string(hb))

	src.append(feed.Message{ID: "a1", Kind: "notice", Type: "alert", Sender: "DE",
		Recipients: []string{"NL"}, Body: json.RawMessage(`{"title":"t"}`), Handling: "H0"})
	_, msg, _ := ws.ReadMessage()
	fmt.Println(string(msg))
	// Output:
	// {"kind":"heartbeat","index":-1}
	// {"index":0,"id":"a1","kind":"notice","type":"alert","sender":"DE","recipients":["NL"],"body":{"title":"t"}}
}
