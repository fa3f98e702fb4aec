package feed

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the feed's Prometheus metrics. No label carries an authority id or entry data.
// A nil *Metrics records nothing.
type Metrics struct {
	subscribers prometheus.Gauge
	sent        *prometheus.CounterVec
	sentLive    prometheus.Counter // sent's children, resolved once
	sentReplay  prometheus.Counter
	sentHB      prometheus.Counter
	slow        prometheus.Counter
	viewErrors  prometheus.Counter
	latency     prometheus.Histogram
}

// NewMetrics creates the feed metrics and registers them with reg (when reg is not nil). It
// panics if they are already registered there, like prometheus.MustRegister.
//
//	penhub_feed_subscribers                     gauge: open feed connections
//	penhub_feed_messages_sent_total{phase}      counter: frames written; phase is live, replay or heartbeat
//	penhub_feed_slow_consumer_disconnects_total counter: connections closed with 1008
//	penhub_feed_view_errors_total               counter: Source.View errors (connections closed with 1011)
//	penhub_feed_delivery_latency_seconds        histogram: from the hub seeing a new log size to the live frame written
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "penhub_feed_subscribers",
			Help: "Open websocket feed connections.",
		}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "penhub_feed_messages_sent_total",
			Help: "Feed frames written, by phase (live, replay, heartbeat).",
		}, []string{"phase"}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "penhub_feed_slow_consumer_disconnects_total",
			Help: "Feed connections closed with 1008 because their buffer was full.",
		}),
		viewErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "penhub_feed_view_errors_total",
			Help: "Entries the feed could not read from the store (connections closed with 1011).",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "penhub_feed_delivery_latency_seconds",
			Help:    "Time from the feed hub seeing a new log entry to its frame written to a subscriber.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	m.sentLive = m.sent.WithLabelValues(phaseLive)
	m.sentReplay = m.sent.WithLabelValues(phaseReplay)
	m.sentHB = m.sent.WithLabelValues(phaseHeartbeat)
	if reg != nil {
		reg.MustRegister(m.subscribers, m.sent, m.slow, m.viewErrors, m.latency)
	}
	return m
}

const (
	phaseLive      = "live"
	phaseReplay    = "replay"
	phaseHeartbeat = "heartbeat"
)

func (m *Metrics) addSubscriber(d float64) {
	if m != nil {
		m.subscribers.Add(d)
	}
}

func (m *Metrics) sentFrame(phase string) {
	if m == nil {
		return
	}
	switch phase {
	case phaseLive:
		m.sentLive.Inc()
	case phaseReplay:
		m.sentReplay.Inc()
	default:
		m.sentHB.Inc()
	}
}

func (m *Metrics) slowConsumer() {
	if m != nil {
		m.slow.Inc()
	}
}

func (m *Metrics) viewError() {
	if m != nil {
		m.viewErrors.Inc()
	}
}

func (m *Metrics) delivered(seen time.Time) {
	if m != nil {
		m.latency.Observe(time.Since(seen).Seconds())
	}
}
