using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.Webhooks;

namespace ApiPlatform.ApiTests;

/// <summary>An embedded server whose publication of committed events can be switched off between restarts.</summary>
public sealed class SwitchablePublishingEmbeddedServer : EmbeddedServer
{
    public bool PublishOnCommit { get; set; }

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Events:PublishOnCommit"] = PublishOnCommit ? "true" : "false";
        return settings;
    }
}

/// <summary>The PostgreSQL variant of <see cref="SwitchablePublishingEmbeddedServer"/>.</summary>
public sealed class SwitchablePublishingPostgresServer : PostgresServer
{
    public bool PublishOnCommit { get; set; }

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Events:PublishOnCommit"] = PublishOnCommit ? "true" : "false";
        return settings;
    }
}

/// <summary>
/// At-least-once delivery across a restart: an event committed with its change, but never published (as if the
/// process died right after the commit), is found by the recovery sweep when the process starts again on the same
/// storage, and delivered — to the webhook, and to an event stream resuming from before it.
/// </summary>
public abstract class WebhookDurabilityTests(ApiServer server, Action<bool> setPublishing) : ApiTestBase(server)
{
    [Fact]
    public async Task An_unpublished_event_survives_a_restart_and_is_delivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var user = await Client.RegisterAsync();
        var created = (await Client.PostAsync("/v1/webhooks", new { url, events = new[] { "resource.created" } }, user.Token)).AssertStatus(HttpStatusCode.Created).Data;
        var webhookId = (string)created["id"]!;
        var first = (await Client.PostAsync("/v1/resources", new { name = "before" }, user.Token)).AssertStatus(HttpStatusCode.Created).Data;
        var resource = (await Client.PostAsync("/v1/resources", new { name = "durable" }, user.Token)).AssertStatus(HttpStatusCode.Created).Data;

        // Committed: both events are in the log. Publishing is off and the sweep only republishes what stayed
        // unacknowledged past its timeout, which product time has not reached: nothing can have sent them.
        var log = (await Client.GetAsync("/v1/events", user.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray();
        Assert.Equal([(string?)resource["id"], (string?)first["id"]], log.Select(e => (string?)e!["data"]!["id"]));
        var firstEventId = (string)log[1]!["id"]!;
        Assert.Empty((await Client.GetAsync($"/v1/webhooks/{webhookId}/deliveries", user.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray());
        Assert.Empty(receiver.At(url));

        setPublishing(true);
        Server.Time.Advance(TimeSpan.FromMinutes(1)); // past Events:AcknowledgeTimeout
        await Server.RestartAsync();
        try
        {
            var requests = await Eventually.ValueAsync(() => receiver.At(url) is { Count: 2 } got ? got : null, "both deliveries", TimeSpan.FromSeconds(60));
            var names = requests.Select(r => (string?)System.Text.Json.Nodes.JsonNode.Parse(r.Body)!["data"]!["name"]).ToList();
            Assert.Equal(["before", "durable"], names.Order());

            // A stream resuming after the first event gets the second, from the log.
            using var client = Server.CreateClient();
            await using var stream = await EventStreamReader.OpenAsync(client, user.Token, lastEventId: firstEventId);
            var next = await stream.NextAsync();
            Assert.Equal((string?)resource["id"], (string?)next.Data["data"]!["id"]);
        }
        finally
        {
            setPublishing(false);
        }
    }
}

public sealed class WebhookDurabilityTestsOnEmbedded(SwitchablePublishingEmbeddedServer server)
    : WebhookDurabilityTests(server, on => server.PublishOnCommit = on), IClassFixture<SwitchablePublishingEmbeddedServer>;

public sealed class WebhookDurabilityTestsOnPostgres(SwitchablePublishingPostgresServer server)
    : WebhookDurabilityTests(server, on => server.PublishOnCommit = on), IClassFixture<SwitchablePublishingPostgresServer>;

/// <summary>A server with the production default: webhooks may not target private networks.</summary>
public sealed class PrivateNetworksRefusedServer : EmbeddedServer
{
    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Webhooks:AllowPrivateNetworks"] = "false";
        return settings;
    }
}

/// <summary>Without <c>Webhooks:AllowPrivateNetworks</c>, loopback, private and link-local targets are refused with 400 naming <c>url</c>.</summary>
public sealed class WebhookPrivateNetworkTests(PrivateNetworksRefusedServer server) : ApiTestBase(server), IClassFixture<PrivateNetworksRefusedServer>
{
    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost:8080/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://10.0.0.1/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://[::ffff:192.168.0.1]/hook")]
    public async Task Private_targets_are_refused_at_creation(string url)
    {
        var user = await Client.RegisterAsync();
        var problem = (await Client.PostAsync("/v1/webhooks", new { url, events = new[] { "resource.created" } }, user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(problem["errors"]?["url"]);
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/webhooks", user.Token)).Json["meta"]!["total"]);
    }
}

/// <summary>The SSRF guard's address classification and URL check, with private networks not allowed.</summary>
public sealed class NetworkPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.5.6.7")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.254")]
    [InlineData("169.254.169.254")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("192.0.2.1")]
    [InlineData("198.51.100.7")]
    [InlineData("203.0.113.9")]
    [InlineData("::a00:1")]                              // IPv4-compatible 10.0.0.1
    [InlineData("::ffff:0:a00:1")]                       // IPv4-translated 10.0.0.1
    [InlineData("64:ff9b::a00:1")]                       // NAT64 of 10.0.0.1
    [InlineData("64:ff9b::7f00:1")]                      // NAT64 of 127.0.0.1
    [InlineData("64:ff9b::a9fe:a9fe")]                   // NAT64 of the metadata address
    [InlineData("64:ff9b:1::808:808")]                   // local-use NAT64 prefix, whatever it carries
    [InlineData("2002:a00:1::1")]                        // 6to4 of 10.0.0.1
    [InlineData("2002:808:808::1")]                      // 6to4 even of a public address
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2")] // Teredo
    [InlineData("2001:db8::1")]                          // documentation
    [InlineData("2001:10::1")]                           // IETF protocol assignments (ORCHID)
    [InlineData("100::1")]                               // discard-only
    [InlineData("3fff::1")]                              // documentation
    [InlineData("2606:4700::5efe:a00:1")]                // ISATAP towards 10.0.0.1
    [InlineData("2606:4700::200:5efe:7f00:1")]           // ISATAP towards 127.0.0.1
    public void Non_public_addresses_are_refused(string address) =>
        Assert.False(NetworkPolicy.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("93.184.216.34")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]                     // NAT64 of 8.8.8.8 (DNS64 on an IPv6-only network)
    [InlineData("2606:4700::5efe:808:808")]              // ISATAP towards a public address
    public void Public_addresses_are_allowed(string address) =>
        Assert.True(NetworkPolicy.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://[::ffff:10.0.0.1]/hook")]
    [InlineData("http://unresolvable-host.invalid/hook")]
    public async Task Urls_to_private_or_unresolvable_hosts_are_refused(string url)
    {
        Assert.NotNull(await NetworkPolicy.CheckUrlAsync(url, allowPrivate: false, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("http://[64:ff9b::a00:1]/hook")]
    [InlineData("http://[2002:a00:1::1]/hook")]
    [InlineData("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook")]
    public async Task Urls_with_embedded_private_ipv4_are_refused(string url)
    {
        Assert.NotNull(await NetworkPolicy.CheckUrlAsync(url, allowPrivate: false, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("https://93.184.216.34/hook", true)]
    [InlineData("https://93.184.216.34:8443/hook", true)]
    [InlineData("http://93.184.216.34/hook", false)]
    [InlineData("https://93.184.216.34:22/hook", false)]
    public async Task Only_the_configured_ports_are_allowed(string url, bool allowed)
    {
        var options = new WebhookOptions { AllowedPorts = [443, 8443] };
        var error = await NetworkPolicy.CheckUrlAsync(url, options, TestContext.Current.CancellationToken);
        Assert.Equal(allowed, error is null);
        if (!allowed)
        {
            Assert.Contains("443, 8443", error);
        }
    }

    [Fact]
    public async Task Without_a_port_list_any_port_is_allowed()
    {
        Assert.Null(await NetworkPolicy.CheckUrlAsync("http://93.184.216.34:2222/hook", new WebhookOptions(), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Allowing_private_networks_accepts_loopback_but_not_unresolvable_hosts()
    {
        Assert.Null(await NetworkPolicy.CheckUrlAsync("http://127.0.0.1:8080/hook", allowPrivate: true, TestContext.Current.CancellationToken));
        Assert.NotNull(await NetworkPolicy.CheckUrlAsync("http://unresolvable-host.invalid/hook", allowPrivate: true, TestContext.Current.CancellationToken));
    }
}
