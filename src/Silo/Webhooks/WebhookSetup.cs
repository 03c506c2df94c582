using System.Data.Common;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Webhooks;
using ApiPlatform.Silo.Hosting;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Webhooks;

/// <summary>
/// Webhook services of a silo: the store, the signals, the outbox relay and the delivery worker with its HTTP client
/// (no redirects, no proxy, and a connection only to an address <see cref="NetworkPolicy"/> allows — checked on the
/// address actually connected to, so DNS rebinding cannot reach a private network).
/// </summary>
internal static class WebhookSetup
{
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder, StorageMode mode)
    {
        var services = builder.Services;
        services.AddOptions<WebhookOptions>().Bind(builder.Configuration.GetSection(WebhookOptions.Section))
            .Validate(o => o.PollInterval > TimeSpan.Zero && o.DeliveryTimeout > TimeSpan.Zero && o.BatchSize > 0 && o.MaxConcurrentDeliveries > 0
                && o.Schedule.All(d => d >= TimeSpan.Zero),
                "Webhooks: PollInterval, DeliveryTimeout, BatchSize and MaxConcurrentDeliveries must be positive, RetrySchedule delays not negative.")
            .ValidateOnStart();
        services.AddSingleton(sp => new WebhookStore(sp.GetRequiredService<DbDataSource>(), mode.IsPostgres ? SqlDialect.Postgres : SqlDialect.Sqlite));
        services.AddSingleton<EventSignals>();
        services.AddHostedService<EventRelay>();
        services.AddHostedService<WebhookDeliveryWorker>();
        services.AddHostedService<WebhookBacklogSampler>();
        services.AddHttpClient(WebhookDeliveryWorker.HttpClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan; // The worker's own timeout covers the whole attempt.
                client.DefaultRequestHeaders.UserAgent.ParseAdd("ApiPlatform-Webhooks/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var allowPrivate = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks;
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    UseProxy = false,
                    UseCookies = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    ConnectCallback = (context, cancellationToken) => ConnectAsync(context, allowPrivate, cancellationToken),
                    // Receivers are third parties: our trace ids (traceparent, baggage) are none of their business.
                    ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
                };
            });
        return builder;
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            var remote = ((IPEndPoint)socket.RemoteEndPoint!).Address;
            if (!allowPrivate && !NetworkPolicy.IsPublic(remote))
            {
                throw new HttpRequestException($"refused: {context.DnsEndPoint.Host} resolved to non-public address {remote}");
            }

            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
