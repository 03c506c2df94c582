using System.Data.Common;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// The services of the event path on a silo: the log (write and read sides), the stream publisher, the batched
/// acknowledgements, and the webhook consumer with its store, sender and URL checks. Options are bound by the host.
/// </summary>
public static class EventServices
{
    public static IServiceCollection AddEventPath(this IServiceCollection services, SqlDialect dialect)
    {
        services.TryAddSingleton<IValidateOptions<EventOptions>, EventOptionsValidator>();
        services.TryAddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<IEventSubscriptions, WebhookSubscriptions>();
        services.AddSingleton<StreamEventPublisher>();
        services.AddSingleton<IEventPublisher>(sp => sp.GetRequiredService<StreamEventPublisher>());
        services.AddSingleton(sp => new EventLog(dialect, sp.GetRequiredService<IEventSubscriptions>(), sp.GetRequiredService<IEventPublisher>()));
        services.AddSingleton(sp => new EventStore(sp.GetRequiredService<DbDataSource>(), dialect));
        services.AddSingleton<EventAcknowledger>();

        services.AddSingleton(sp => new WebhookStore(sp.GetRequiredService<DbDataSource>(), dialect));
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<UrlChecker>();
        services.AddSingleton<IEventConsumer, WebhookDispatcher>();
        services.AddSingleton<ISweepTask, WebhookSweepTask>();
        return services;
    }
}
