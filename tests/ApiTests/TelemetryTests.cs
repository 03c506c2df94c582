using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Metrics on the management listener, scraped as Prometheus does. The product meter is process-wide, so series may
/// also count other tests' traffic on servers in this process: the tests check that series exist with their labels
/// after traffic that must have produced them, never exact totals.
/// </summary>
public abstract class TelemetryTests(ApiServer server) : ApiTestBase(server)
{
    protected virtual bool OnPostgres => false;

    protected Uri Management => Server.ManagementAddress ?? throw new InvalidOperationException("The test server has no management listener.");

    /// <summary>
    /// Traffic that makes every instrument of the product meter record (except the pending SSE one): requests, a
    /// plan-cap and a rate-limit refusal, API-key cache hits and misses, a webhook delivery, and a create (group
    /// commit on PostgreSQL). Returns the id of the resource it created.
    /// </summary>
    protected async Task<string> DriveTrafficAsync()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var user = await Client.RegisterAsync("metrics");
        var hook = receiver.NewUrl();
        (await Client.PostAsync("/v1/webhooks", new { url = hook, events = new[] { "resource.created" } }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);
        var apiKey = Credential.ApiKeyHeader(key);
        var created = (await Client.PostAsync("/v1/resources", new { name = "measured" }, apiKey)).AssertStatus(HttpStatusCode.Created);
        var id = (string)created.Data["id"]!;
        for (var i = 0; i < 3; i++)
        {
            (await Client.GetAsync($"/v1/resources/{id}", apiKey)).AssertStatus(HttpStatusCode.OK);
        }

        // The free plan allows 3 keys in the tests: the fourth is a plan-cap refusal.
        await Client.CreateApiKeyAsync(user.Token);
        await Client.CreateApiKeyAsync(user.Token);
        (await Client.PostAsync("/v1/api-keys", new { name = "one too many" }, user.Token)).AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached");

        // The 'tiny' plan allows 5 requests a minute: the sixth is a rate-limit refusal.
        var admin = Credential.Bearer((string)(await Client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword))["access_token"]!);
        var tiny = Credential.ApiKeyHeader((string)(await Client.PostAsync("/v1/api-keys", new { name = "tiny", plan = "tiny" }, admin))
            .AssertStatus(HttpStatusCode.Created).Data["key"]!);
        for (var i = 0; i < 5; i++)
        {
            (await Client.GetAsync("/v1/resources", tiny)).AssertStatus(HttpStatusCode.OK);
        }

        (await Client.GetAsync("/v1/resources", tiny)).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        await Eventually.HoldsAsync(() => Task.FromResult(receiver.At(hook).Count > 0), "the webhook delivery");
        return id;
    }

    [Fact]
    public async Task Metrics_are_served_on_the_management_listener_and_not_on_the_api_port()
    {
        var scrape = await PrometheusScrape.GetAsync(Management);
        Assert.True(scrape.Contains("target_info"), "The scrape lacks target_info.");
        Assert.NotEqual(Server.BaseAddress.Port, Management.Port);

        (await Client.GetAsync("/metrics")).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        using var http = new HttpClient { BaseAddress = Management };
        using var other = await http.GetAsync("/v1/resources", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public void Without_an_otlp_endpoint_no_trace_is_recorded()
    {
        Assert.Null(Server.Services.GetService<TracerProvider>());
    }

    [Fact]
    public async Task A_scrape_after_traffic_has_the_http_orleans_and_product_series_with_their_labels()
    {
        var id = await DriveTrafficAsync();
        var expected = new List<(string Name, (string, string)[] Labels)>
        {
            // ASP.NET Core's request metrics, by route template.
            ("http_server_request_duration_seconds_count", [("http_route", "/v1/resources/{id}"), ("http_request_method", "GET"), ("http_response_status_code", "200")]),
            ("http_server_request_duration_seconds_bucket", [("http_route", "/v1/resources/"), ("le", "0.0005")]),
            // Orleans' own meter: grains by type, grain calls.
            ("orleans_grains", [("grain_type", "user")]),
            ("orleans_app_requests_latency_milliseconds_count", []),
            // .NET runtime.
            ("dotnet_process_cpu_count", []),
            // The product meter.
            ("apiplatform_requests_total", [("http_route", "/v1/resources/"), ("http_request_method", "POST"), ("http_response_status_code", "201")]),
            ("apiplatform_requests_total", [("http_route", "/v1/resources/{id}"), ("http_request_method", "GET"), ("http_response_status_code", "200")]),
            ("apiplatform_plan_limit_refusals_total", [("plan", "free"), ("http_route", "/v1/api-keys/")]),
            ("apiplatform_rate_limit_refusals_total", [("plan", "tiny")]),
            ("apiplatform_api_key_cache_lookups_total", [("result", "hit")]),
            ("apiplatform_api_key_cache_lookups_total", [("result", "miss")]),
            ("apiplatform_webhook_deliveries_total", [("outcome", "succeeded")]),
            ("apiplatform_webhook_delivery_duration_seconds_bucket", [("outcome", "succeeded")]),
            ("apiplatform_webhook_backlog", [("queue", "outbox")]),
            ("apiplatform_webhook_backlog", [("queue", "deliveries")]),
        };
        if (OnPostgres)
        {
            // Group commit and the Npgsql driver run only on PostgreSQL.
            expected.Add(("apiplatform_group_commit_size_bucket", [("le", "1")]));
            expected.Add(("db_client_operation_duration_seconds_count", []));
        }

        PrometheusScrape scrape = null!;
        await Eventually.HoldsAsync(async () =>
        {
            scrape = await PrometheusScrape.GetAsync(Management);
            return expected.All(e => scrape.Find(e.Name, e.Labels) is not null);
        }, "every expected series in the scrape", describe: () => "Missing: " + string.Join(", ", expected.Where(e => scrape.Find(e.Name, e.Labels) is null)
            .Select(e => e.Name + "{" + string.Join(",", e.Labels.Select(l => l.Item1 + "=" + l.Item2)) + "}")));

        // Labels are route templates, never raw paths: a resource id must not become a series of its own.
        Assert.DoesNotContain(scrape.Samples, s => s.Labels.Values.Any(v => v.Contains(id, StringComparison.Ordinal)));
    }
}

[Collection(Servers.Embedded)]
public sealed class TelemetryTestsOnEmbedded(EmbeddedServer server) : TelemetryTests(server);

[Collection(Servers.Postgres)]
public sealed partial class TelemetryTestsOnPostgres(PostgresServer server) : TelemetryTests(server)
{
    protected override bool OnPostgres => true;

    /// <summary>
    /// Every metric the Grafana dashboard (k8s/observability/grafana-dashboard.json) queries exists in a scrape after
    /// traffic, so no panel is empty because of a renamed or missing series. On PostgreSQL, where every metric the
    /// dashboard shows is produced (group commit and the Npgsql driver run only there).
    /// </summary>
    [Fact]
    public async Task Every_metric_the_grafana_dashboard_queries_is_in_a_scrape()
    {
        var path = RepositoryPaths.Of("k8s", "observability", "grafana-dashboard.json");
        var dashboard = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken))!;
        var expressions = dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]?.AsArray() ?? []).Select(t => (string)t!["expr"]!).ToList();
        var metrics = expressions.SelectMany(MetricNames).ToHashSet(StringComparer.Ordinal);
        Assert.True(metrics.Count >= 15, $"Found only {metrics.Count} metric names in the dashboard: {string.Join(", ", metrics)}");

        await DriveTrafficAsync();
        HashSet<string> missing = [];
        await Eventually.HoldsAsync(async () =>
        {
            var scrape = await PrometheusScrape.GetAsync(Management);
            missing = [.. metrics.Where(m => !scrape.Contains(m))];
            return missing.Count == 0;
        }, "every dashboard metric in the scrape", describe: () => "Missing: " + string.Join(", ", missing));
    }

    /// <summary>The metric names a PromQL expression selects: identifiers outside label matchers, groupings and functions.</summary>
    internal static IEnumerable<string> MetricNames(string expression)
    {
        var bare = LabelMatchers().Replace(expression, "");
        bare = Groupings().Replace(bare, "");
        bare = Ranges().Replace(bare, "");
        return Identifiers().Matches(bare).Select(m => m.Value)
            .Where(token => !PromQlWords.Contains(token) && !System.Text.RegularExpressions.Regex.IsMatch(bare, $@"\b{token}\s*\("));
    }

    private static readonly HashSet<string> PromQlWords = ["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "le", "e"];

    [System.Text.RegularExpressions.GeneratedRegex(@"\{[^}]*\}")]
    private static partial System.Text.RegularExpressions.Regex LabelMatchers();

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(by|without|on|ignoring)\s*\([^)]*\)")]
    private static partial System.Text.RegularExpressions.Regex Groupings();

    [System.Text.RegularExpressions.GeneratedRegex(@"\[[^\]]*\]")]
    private static partial System.Text.RegularExpressions.Regex Ranges();

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial System.Text.RegularExpressions.Regex Identifiers();
}
