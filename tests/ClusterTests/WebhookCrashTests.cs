using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace ApiPlatform.ClusterTests;

/// <summary>An event whose delivery is pending when every silo is killed with SIGKILL is delivered after restart.</summary>
public sealed class WebhookCrashTests(ProcessCluster cluster) : IClassFixture<ProcessCluster>
{
    [Fact]
    public async Task A_pending_delivery_survives_killing_every_silo()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var port = TestPorts.Free();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var answer = (int)HttpStatusCode.ServiceUnavailable;
        var received = new ConcurrentQueue<(int Answered, string? WebhookId, string Body)>();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var status = Volatile.Read(ref answer);
                received.Enqueue((status, context.Request.Headers["webhook-id"], body));
                context.Response.StatusCode = status;
                context.Response.Close();
            }
        }, TestContext.Current.CancellationToken);

        var silos = cluster.Silos.Select(s => Api.Client(s.BaseAddress)).ToArray();
        var (_, token) = await Api.RegisterAsync(silos[0]);
        var (created, _, _) = await Api.SendAsync(silos[0], HttpMethod.Post, "/v1/webhooks",
            new { url = $"http://127.0.0.1:{port}/hook", events = new[] { "resource.created" } }, token);
        Assert.Equal(HttpStatusCode.Created, created);
        var (status, resource, _) = await Api.SendAsync(silos[1], HttpMethod.Post, "/v1/resources", new { name = "must arrive" }, token);
        Assert.Equal(HttpStatusCode.Created, status);
        var resourceId = (string)resource!["data"]!["id"]!;

        // The endpoint is down: the first attempt fails, so the delivery is pending when the silos die.
        await KillTests.WaitUntilAsync(() => !received.IsEmpty, TimeSpan.FromSeconds(60));
        await Task.WhenAll(cluster.Silos.Select(s => s.KillAsync()));
        Volatile.Write(ref answer, (int)HttpStatusCode.OK);
        await Task.WhenAll(cluster.Silos.Select(s => s.StartAsync()));

        await KillTests.WaitUntilAsync(() => received.Any(r => r.Answered == 200), TimeSpan.FromSeconds(90));
        var delivered = received.First(r => r.Answered == 200);
        Assert.Contains(resourceId, delivered.Body, StringComparison.Ordinal);
        Assert.Equal(received.First().WebhookId, delivered.WebhookId);

        await stop.CancelAsync();
        listener.Stop();
        await serving;
        foreach (var client in silos)
        {
            client.Dispose();
        }
    }
}
