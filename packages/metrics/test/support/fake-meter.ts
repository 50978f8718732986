import type {
  BatchObservableCallback,
  Counter,
  Gauge,
  Histogram,
  Meter,
  MetricAttributes,
  MetricOptions,
  Observable,
  ObservableCallback,
  UpDownCounter,
} from "@opentelemetry/api";

/** What the fake meter records of one instrument. */
export interface FakeInstrument {
  readonly kind:
    | "counter"
    | "upDownCounter"
    | "gauge"
    | "histogram"
    | "observableCounter"
    | "observableGauge"
    | "observableUpDownCounter";
  readonly name: string;
  readonly options: MetricOptions | undefined;
  /** Values recorded (histograms, synchronous instruments). */
  readonly records: { value: number; attributes: MetricAttributes | undefined }[];
}

/** One observation made during {@link FakeMeter.collect}. */
export interface Observation {
  readonly value: number;
  readonly attributes: MetricAttributes;
}

class FakeObservable implements Observable {
  readonly callbacks = new Set<ObservableCallback>();
  constructor(readonly instrument: FakeInstrument) {}
  addCallback(callback: ObservableCallback): void {
    this.callbacks.add(callback);
  }
  removeCallback(callback: ObservableCallback): void {
    this.callbacks.delete(callback);
  }
}

/**
 * A minimal OpenTelemetry `Meter`, without the SDK: it keeps the instruments created, the values
 * recorded, and runs the observable callbacks when asked to {@link FakeMeter.collect}, as a metric
 * reader would.
 */
export class FakeMeter implements Meter {
  readonly instruments = new Map<string, FakeInstrument>();
  private readonly observables = new Map<Observable, FakeObservable>();
  private readonly batches = new Map<BatchObservableCallback, Observable[]>();

  private create(kind: FakeInstrument["kind"], name: string, options?: MetricOptions): FakeInstrument {
    if (this.instruments.has(name)) throw new Error(`instrument ${name} created twice`);
    const instrument: FakeInstrument = { kind, name, options, records: [] };
    this.instruments.set(name, instrument);
    return instrument;
  }

  private synchronous(kind: FakeInstrument["kind"], name: string, options?: MetricOptions) {
    const instrument = this.create(kind, name, options);
    const record = (value: number, attributes?: MetricAttributes) => {
      instrument.records.push({ value, attributes });
    };
    return { add: record, record };
  }

  private observable(kind: FakeInstrument["kind"], name: string, options?: MetricOptions): Observable {
    const observable = new FakeObservable(this.create(kind, name, options));
    this.observables.set(observable, observable);
    return observable;
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    return this.synchronous("gauge", name, options);
  }
  createHistogram(name: string, options?: MetricOptions): Histogram {
    return this.synchronous("histogram", name, options);
  }
  createCounter(name: string, options?: MetricOptions): Counter {
    return this.synchronous("counter", name, options);
  }
  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    return this.synchronous("upDownCounter", name, options);
  }
  createObservableGauge(name: string, options?: MetricOptions): Observable {
    return this.observable("observableGauge", name, options);
  }
  createObservableCounter(name: string, options?: MetricOptions): Observable {
    return this.observable("observableCounter", name, options);
  }
  createObservableUpDownCounter(name: string, options?: MetricOptions): Observable {
    return this.observable("observableUpDownCounter", name, options);
  }
  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    for (const observable of observables) {
      if (!this.observables.has(observable)) throw new Error("not an observable of this meter");
    }
    this.batches.set(callback, observables);
  }
  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    if (this.batches.get(callback)?.length === observables.length) this.batches.delete(callback);
  }

  /** Number of batch callbacks registered. */
  get batchCallbackCount(): number {
    return this.batches.size;
  }

  /** Runs every callback once, as one collection, and returns the observations by instrument name. */
  async collect(): Promise<Map<string, Observation[]>> {
    const observed = new Map<string, Observation[]>();
    const push = (observable: Observable, value: number, attributes: MetricAttributes = {}) => {
      const fake = this.observables.get(observable);
      if (fake === undefined) throw new Error("observed an instrument of another meter");
      const list = observed.get(fake.instrument.name) ?? [];
      list.push({ value, attributes });
      observed.set(fake.instrument.name, list);
    };
    for (const [callback, observables] of this.batches) {
      await callback({
        observe(observable, value, attributes) {
          if (!observables.includes(observable)) throw new Error("observed an instrument not in the batch");
          push(observable, value, attributes);
        },
      });
    }
    for (const fake of this.observables.values()) {
      for (const callback of fake.callbacks) {
        await callback({
          observe(value, attributes) {
            push(fake, value, attributes);
          },
        });
      }
    }
    return observed;
  }
}
