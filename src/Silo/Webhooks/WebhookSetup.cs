using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Webhooks;

namespace ApiPlatform.Silo.Webhooks;

/// <summary>
/// The event path of a silo: options (<c>Events</c>, <c>Webhooks</c>), the event log and webhook services, the memory
/// stream provider the owners' events travel on, and the start of the recovery sweep.
/// </summary>
internal static class WebhookSetup
{
    public static WebApplicationBuilder AddEventPath(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<EventOptions, EventOptionsValidator>(builder.Configuration, EventOptions.Section);
        services.AddValidatedOptions<WebhookOptions, WebhookOptionsValidator>(builder.Configuration, WebhookOptions.Section);
        services.AddEventPath();
        services.AddWebhooks();
        services.AddHostedService<EventSweepStarter>();
        services.AddHostedService<WebhookBacklogSampler>();
        return builder;
    }

    /// <summary>
    /// The event streams (<see cref="EventQueueStreams"/>) in both storage modes, implicit subscriptions only (no
    /// pub-sub state to store): the outbox is what makes an event durable, the stream only carries it, and the sweep
    /// republishes what no consumer acknowledged.
    /// </summary>
    public static ISiloBuilder AddEventStreams(this ISiloBuilder silo, IConfiguration configuration)
    {
        var settings = configuration.GetSection(EventOptions.Section).Get<EventOptions>() ?? new EventOptions();
        return silo.AddEventQueueStreams(EventStreams.Provider, settings);
    }
}

/// <summary>
/// Starts the recovery sweep when this silo has joined (registers its reminder, sweeps once: after a restart of the
/// embedded default, whose reminders live in memory, this is what finds the events and retries left behind), and
/// asks for a sweep whenever another silo is declared dead (it may have died between a commit and its publication).
/// </summary>
internal sealed partial class EventSweepStarter(IGrainFactory grains, IClusterMembershipService membership, ILogger<EventSweepStarter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 0; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await grains.GetGrain<IEventSweepGrain>(0).StartAsync();
                break;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogStartFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(attempt, 5))), stoppingToken);
            }
        }

        var dead = new HashSet<SiloAddress>();
        var first = true;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                var newlyDead = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress));
                // The first snapshot lists silos that died before this one started: the start-up sweep covered them.
                if (!first && newlyDead > 0)
                {
                    await SweepAsync();
                }

                first = false;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SweepAsync()
    {
        try
        {
            await grains.GetGrain<IEventSweepGrain>(0).SweepAsync();
        }
        catch (Exception e)
        {
            LogStartFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Starting or running the event sweep failed; retrying")]
    private static partial void LogStartFailed(ILogger logger, Exception exception);
}
