// Command bench-connect is the benchmark's stand-in for Redpanda Connect: the benthos engine
// (github.com/redpanda-data/benthos/v4, MIT, the engine Redpanda Connect is built on) with its
// http_server input and Bloblang, plus a `franz_kafka` batch output written here on franz-go, the
// Kafka client of Redpanda Connect's own kafka_franz output (whose module cannot be used here).
// config.yaml (embedded) wires them up: http_server -> mapping -> fan_out(franz_kafka,
// sync_response), answering each POST only after Kafka acknowledged its record.
//
// Run: bench-connect PORT BOOTSTRAP TOPIC_PREFIX
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"   // http_server
	_ "github.com/redpanda-data/benthos/v4/public/components/pure" // mapping, broker, sync_response
)

//go:embed config.yaml
var config string

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bench-connect PORT BOOTSTRAP TOPIC_PREFIX")
		os.Exit(2)
	}
	vars := map[string]string{"PORT": os.Args[1], "BOOTSTRAP": os.Args[2], "TOPIC_PREFIX": os.Args[3]}
	if err := run(vars); err != nil {
		fmt.Fprintln(os.Stderr, "bench-connect:", err)
		os.Exit(1)
	}
}

func run(vars map[string]string) error {
	service.MustRegisterBatchOutput("franz_kafka", franzSpec(), newFranzOutput)

	builder := service.NewStreamBuilder()
	builder.SetEnvVarLookupFunc(func(name string) (string, bool) {
		value, ok := vars[name]
		return value, ok
	})
	if err := builder.SetYAML(config); err != nil {
		return err
	}
	stream, err := builder.Build()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fmt.Println("connect ready") // like the baseline; the harness polls the port
	if err := stream.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return stream.StopWithin(20 * time.Second)
}

// --- the franz_kafka output -----------------------------------------------------------------

func franzSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Summary("Produces each message to Kafka with franz-go and returns from WriteBatch only once every record of the batch is acknowledged (acks=all, idempotent).").
		Fields(
			service.NewStringListField("seed_brokers").
				Description("Kafka addresses; an entry may hold several, comma-separated."),
			service.NewInterpolatedStringField("topic"),
			service.NewInterpolatedStringField("key"),
			service.NewDurationField("linger").
				Description("How long a partition's batch waits for more records (franz-go ProducerLinger).").
				Default("5ms"),
			service.NewOutputMaxInFlightField(),
			service.NewBatchPolicyField("batching"),
		)
}

type franzOutput struct {
	brokers []string
	topic   *service.InterpolatedString
	key     *service.InterpolatedString
	linger  time.Duration

	mu     sync.RWMutex // Connect and Close against the concurrent WriteBatch calls
	client *kgo.Client
}

func newFranzOutput(conf *service.ParsedConfig, _ *service.Resources) (
	out service.BatchOutput, policy service.BatchPolicy, maxInFlight int, err error,
) {
	o := &franzOutput{}
	var lists []string
	if lists, err = conf.FieldStringList("seed_brokers"); err != nil {
		return
	}
	for _, list := range lists {
		for _, broker := range strings.Split(list, ",") {
			if broker = strings.TrimSpace(broker); broker != "" {
				o.brokers = append(o.brokers, broker)
			}
		}
	}
	if o.topic, err = conf.FieldInterpolatedString("topic"); err != nil {
		return
	}
	if o.key, err = conf.FieldInterpolatedString("key"); err != nil {
		return
	}
	if o.linger, err = conf.FieldDuration("linger"); err != nil {
		return
	}
	if maxInFlight, err = conf.FieldMaxInFlight(); err != nil {
		return
	}
	if policy, err = conf.FieldBatchPolicy("batching"); err != nil {
		return
	}
	return o, policy, maxInFlight, nil
}

func (o *franzOutput) Connect(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client != nil {
		return nil
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(o.brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()), // also franz-go's default; idempotence (default on) needs it
		kgo.ProducerLinger(o.linger),
		// No compression, like the bridge's and the baseline's default (franz-go would pick snappy).
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if err != nil {
		return err
	}
	if err := client.Ping(ctx); err != nil {
		client.Close()
		return err
	}
	o.client = client
	return nil
}

// WriteBatch produces every message of the batch and waits for all of their acknowledgements:
// nil only when Kafka acknowledged each record, otherwise the first error (and benthos then
// fails the transactions of the whole batch, so each of their requests gets a 502).
func (o *franzOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	o.mu.RLock()
	client := o.client
	o.mu.RUnlock()
	if client == nil {
		return service.ErrNotConnected
	}
	topics := batch.InterpolationExecutor(o.topic)
	keys := batch.InterpolationExecutor(o.key)
	records := make([]*kgo.Record, 0, len(batch))
	for i, msg := range batch {
		value, err := msg.AsBytes()
		if err != nil {
			return err
		}
		topic, err := topics.TryString(i)
		if err != nil {
			return fmt.Errorf("topic: %w", err)
		}
		key, err := keys.TryString(i)
		if err != nil {
			return fmt.Errorf("key: %w", err)
		}
		records = append(records, &kgo.Record{Topic: topic, Key: []byte(key), Value: value})
	}
	return client.ProduceSync(ctx, records...).FirstErr()
}

func (o *franzOutput) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client != nil {
		o.client.Close()
		o.client = nil
	}
	return nil
}
