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

    private Uri Management => Server.ManagementAddress ?? throw new InvalidOperationException("The test server has no management listener.");

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
        }, "every expected series in the scrape");

        // Labels are route templates, never raw paths: a resource id must not become a series of its own.
        Assert.DoesNotContain(scrape.Samples, s => s.Labels.Values.Any(v => v.Contains(id, StringComparison.Ordinal)));
    }
}

[Collection(Servers.Embedded)]
public sealed class TelemetryTestsOnEmbedded(EmbeddedServer server) : TelemetryTests(server);

[Collection(Servers.Postgres)]
public sealed class TelemetryTestsOnPostgres(PostgresServer server) : TelemetryTests(server)
{
    protected override bool OnPostgres => true;
}
