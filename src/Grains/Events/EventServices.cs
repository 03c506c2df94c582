using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// The services of the event outbox on a silo: the log (write and read sides), the stream publisher and the batched
/// acknowledgements. Consumers (webhooks) register themselves: this module knows none of them. Options are bound by
/// the host; the <see cref="Storage.Database"/> is registered by the host too.
/// </summary>
public static class EventServices
{
    public static IServiceCollection AddEventPath(this IServiceCollection services)
    {
        services.TryAddSingleton<IValidateOptions<EventOptions>, EventOptionsValidator>();
        services.AddSingleton<StreamEventPublisher>();
        services.AddSingleton<IEventPublisher>(sp => sp.GetRequiredService<StreamEventPublisher>());
        services.AddSingleton<EventLog>();
        services.AddSingleton<EventStore>();
        services.AddSingleton<EventAcknowledger>();
        return services;
    }
}
