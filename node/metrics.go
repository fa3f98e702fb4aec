package node

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/penhub/penhub/consensus"
)

// metrics are the node's Prometheus series. Labels never carry authority ids
// or notice data (SPEC §4): only routes (patterns), status codes and states.
type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	noticesPosted prometheus.Counter
	reg           prometheus.Registerer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "penhub_http_requests_total", Help: "HTTP API requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "penhub_http_request_duration_seconds", Help: "HTTP API request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		noticesPosted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "penhub_notices_posted_total", Help: "Notices posted through this node and committed.",
		}),
		reg: reg,
	}
	reg.MustRegister(m.requests, m.latency, m.noticesPosted)
	return m
}

// watch exports the replicated log's state as gauges read at scrape time.
func (m *metrics) watch(c *consensus.Node) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "penhub_raft_is_leader", Help: "1 when this node is the Raft leader."},
			func() float64 {
				if c.IsLeader() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "penhub_raft_term", Help: "Current Raft term."},
			func() float64 { return float64(c.Status().Term) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "penhub_log_size", Help: "Entries in the applied notice log (last log index + 1)."},
			func() float64 { return float64(c.Ledger().Size()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "penhub_alarms", Help: "Open alarms (checkpoint mismatches, secretariat key resets)."},
			func() float64 { return float64(len(c.Ledger().Alarms())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "penhub_ready", Help: "1 when the node has a leader and is caught up."},
			func() float64 {
				if c.Ready() {
					return 1
				}
				return 0
			}),
	)
	if rm, ok := any(c).(interface{ Collectors() []prometheus.Collector }); ok {
		m.reg.MustRegister(rm.Collectors()...)
	}
}

// instrument counts and times requests of one route.
func (m *metrics) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack passes the connection to the websocket upgrade (gorilla asserts
// http.Hijacker directly); a hijacked request counts as 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("hijacking connection: %T is not a http.Hijacker", w.ResponseWriter)
	}
	w.code = http.StatusSwitchingProtocols
	return h.Hijack()
}
