using ApiPlatform.Grains.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// The webhook feature on a silo: a consumer of the event outbox (which events need a delivery, the fan-out into
/// deliveries, its part of the recovery sweep), with its store, sender and URL checks. Options are bound by the host.
/// </summary>
public static class WebhookServices
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.TryAddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<IEventSubscriptions, WebhookSubscriptions>();
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<AttemptWriter>();
        services.AddSingleton<UrlChecker>();
        services.AddSingleton<IEventConsumer, WebhookDispatcher>();
        services.AddSingleton<ISweepTask, WebhookSweepTask>();
        return services;
    }
}
