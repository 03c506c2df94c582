using System.Diagnostics;
using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using OpenTelemetry.Trace;

namespace ApiPlatform.ApiTests;

/// <summary>
/// One request is one trace: the HTTP span, the grain calls it makes (client and server side) and the SQL those run,
/// all under the trace the caller's <c>traceparent</c> names. A server of its own with tracing on and an in-memory
/// exporter (the OTLP path is proven against real processes in ClusterTests).
/// </summary>
public abstract class TracingTests
{
    protected abstract ApiServer CreateServer();

    protected virtual bool OnPostgres => false;

    /// <summary>A server of its own with tracing on, exporting every finished span into <paramref name="spans"/>.</summary>
    private async Task<ApiServer> StartTracedAsync(LockedList<Activity> spans)
    {
        var server = CreateServer();
        if (!server.Available)
        {
            await server.DisposeAsync();
            Assert.Skip("PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        }

        server.Overrides["Telemetry:Tracing"] = "true";
        // Every trace, not the default tenth: each test follows one request or delivery.
        server.Overrides["Telemetry:TraceSampleRatio"] = "1";
        server.ConfigureHost = builder => builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans));
        await server.InitializeAsync();
        return server;
    }

    [Fact]
    public async Task A_request_is_one_trace_from_http_through_grain_calls_to_sql()
    {
        var spans = new LockedList<Activity>();
        await using var server = await StartTracedAsync(spans);
        // The test's client lives in the server's process, where the server's HttpClient instrumentation would make
        // it a traced client that replaces the traceparent below with its own: it sends headers as given instead.
        using var client = new ApiClient(new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() })
        {
            BaseAddress = server.BaseAddress,
        });
        var user = await client.RegisterAsync("traced");
        var id = (string)(await client.PostAsync("/v1/resources", new { name = "traced" }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;

        // The caller's trace: the first read of the resource activates its grain, which loads the row.
        var trace = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        (await client.GetAsync($"/v1/resources/{id}", user.Token,
            r => r.Headers.TryAddWithoutValidation("traceparent", $"00-{trace}-{callerSpan}-01"))).AssertStatus(HttpStatusCode.OK);

        List<Activity> mine = [];
        string Describe() => spans.Count + " spans; " + string.Join("\n", spans.Snapshot().Where(s => s.TraceId == trace)
            .Take(60).Select(s => $"{s.TraceId} {s.Source.Name} {s.Kind} {s.DisplayName} parent={s.ParentSpanId} id={s.SpanId}"));
        await Eventually.HoldsAsync(() =>
        {
            mine = [.. spans.Snapshot().Where(s => s.TraceId == trace)];
            return Task.FromResult(
                mine.Any(s => s.Source.Name == "Microsoft.AspNetCore" && s.Kind == ActivityKind.Server)
                && mine.Any(s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.Kind == ActivityKind.Client
                    && s.DisplayName.Contains("ResourceGrain", StringComparison.Ordinal))
                && mine.Any(s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.Kind == ActivityKind.Server
                    && s.DisplayName.Contains("ResourceGrain", StringComparison.Ordinal))
                && (!OnPostgres || mine.Any(s => s.Source.Name == "Npgsql")));
        }, "the request's HTTP, grain and SQL spans in one trace", describe: Describe);

        // One tree: every span hangs off the caller's span or another span of the same trace.
        var ids = mine.Select(s => s.SpanId).Append(callerSpan).ToHashSet();
        Assert.All(mine, s => Assert.Contains(s.ParentSpanId, ids));
        var http = mine.Single(s => s.Source.Name == "Microsoft.AspNetCore");
        Assert.Equal(callerSpan, http.ParentSpanId);
        Assert.Equal("GET /v1/resources/{id}", http.DisplayName);
    }

    [Fact]
    public async Task A_webhook_delivery_is_a_trace_of_its_own_and_tells_the_receiver_nothing_about_it()
    {
        var spans = new LockedList<Activity>();
        await using var server = await StartTracedAsync(spans);
        await using var receiver = await WebhookReceiver.StartAsync();
        using var client = server.CreateClient();
        var user = await client.RegisterAsync("traced");
        var url = receiver.NewUrl();
        (await client.PostAsync("/v1/webhooks", new { url, events = new[] { "resource.created" } }, user.Token)).AssertStatus(HttpStatusCode.Created);
        (await client.PostAsync("/v1/resources", new { name = "delivered" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        await Eventually.HoldsAsync(() => Task.FromResult(receiver.At(url).Count > 0), "the delivery");

        var delivery = receiver.At(url)[0];
        Assert.False(delivery.Headers.ContainsKey("traceparent"), "The receiver got our trace context.");
        Assert.False(delivery.Headers.ContainsKey("baggage"), "The receiver got our baggage.");
        Activity deliver = null!;
        await Eventually.HoldsAsync(() =>
        {
            deliver = spans.Snapshot().FirstOrDefault(s => s.DisplayName == "webhook.deliver")!;
            return Task.FromResult(deliver is not null
                && spans.Snapshot().Any(s => s.TraceId == deliver.TraceId && s.ParentSpanId == deliver.SpanId && s.Kind == ActivityKind.Client
                    && s.Source.Name == "System.Net.Http"));
        }, "the delivery's span with its HTTP POST under it");
        Assert.Equal(default, deliver.ParentSpanId);
    }
}

public sealed class TracingTestsOnEmbedded : TracingTests
{
    protected override ApiServer CreateServer() => new EmbeddedServer();
}

public sealed class TracingTestsOnPostgres : TracingTests
{
    protected override ApiServer CreateServer() => new PostgresServer();

    protected override bool OnPostgres => true;
}

/// <summary>A list the exporter may add to from any thread while the test reads snapshots of it.</summary>
internal sealed class LockedList<T> : ICollection<T>
{
    private readonly List<T> _items = [];

    public int Count
    {
        get
        {
            lock (_items)
            {
                return _items.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public List<T> Snapshot()
    {
        lock (_items)
        {
            return [.. _items];
        }
    }

    public void Add(T item)
    {
        lock (_items)
        {
            _items.Add(item);
        }
    }

    public void Clear()
    {
        lock (_items)
        {
            _items.Clear();
        }
    }

    public bool Contains(T item) => Snapshot().Contains(item);

    public void CopyTo(T[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

    public bool Remove(T item)
    {
        lock (_items)
        {
            return _items.Remove(item);
        }
    }

    public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
