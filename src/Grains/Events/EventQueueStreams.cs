using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// The stream provider the owners' events travel on: Orleans persistent streams over in-memory queues
/// (<see cref="IEventQueueGrain"/>), like Orleans' memory streams, except that a pulling agent's read waits in its queue
/// for the next message (<see cref="EventOptions.StreamReadWait"/>) instead of the agent looking every few
/// milliseconds. An event is read as soon as it is queued, and an idle queue costs one call per wait. Implicit
/// subscriptions only; nothing is stored: the outbox makes an event durable, the sweep republishes what a lost queue held.
/// </summary>
public static class EventQueueStreams
{
    /// <summary>Messages one read takes at most when the agent's cache sets no limit.</summary>
    public const int MaxRead = 256;

    public static ISiloBuilder AddEventQueueStreams(this ISiloBuilder silo, string name, EventOptions options) =>
        silo.AddPersistentStreams(name, Factory(options), streams =>
        {
            Configure(streams, options);
            // The read itself waits for messages; the agent's timer only restarts a pump whose read came back empty
            // (after a whole wait) or that stopped because its cache was full, so it need not be short: a message
            // queued in that gap waits for it, and a full cache is looked at once per period.
            streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(10)));
        });

    /// <summary>A client that publishes on the provider (the test host's); it reads nothing, but maps streams to the silos' queues.</summary>
    public static IClientBuilder AddEventQueueStreams(this IClientBuilder client, string name, EventOptions options) =>
        client.AddPersistentStreams(name, Factory(options), streams => Configure(streams, options));

    private static Func<IServiceProvider, string, IQueueAdapterFactory> Factory(EventOptions options) =>
        (services, name) => EventQueueAdapterFactory.Create(services, name, options.StreamReadWait);

    private static void Configure(IPersistentStreamConfigurator streams, EventOptions options)
    {
        streams.Configure<HashRingStreamQueueMapperOptions>(o => o.Configure(q => q.TotalQueueCount = options.StreamQueues));
        streams.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
    }
}

/// <summary>The queue adapter and its factory: queues by stream (hash ring), a simple cache per queue, no failure handling of its own.</summary>
internal sealed class EventQueueAdapterFactory(
    string name, HashRingStreamQueueMapperOptions mapperOptions, SimpleQueueCacheOptions cacheOptions, TimeSpan readWait,
    IGrainFactory grains, ILoggerFactory loggerFactory) : IQueueAdapterFactory, IQueueAdapter
{
    private readonly HashRingBasedStreamQueueMapper _mapper = new(mapperOptions, name);
    private readonly SimpleQueueAdapterCache _cache = new(cacheOptions, name, loggerFactory);
    private readonly NoOpStreamDeliveryFailureHandler _failures = new();

    public string Name => name;

    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    public static IQueueAdapterFactory Create(IServiceProvider services, string name, TimeSpan readWait) =>
        ActivatorUtilities.CreateInstance<EventQueueAdapterFactory>(services, name,
            services.GetOptionsByName<HashRingStreamQueueMapperOptions>(name),
            services.GetOptionsByName<SimpleQueueCacheOptions>(name),
            readWait);

    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);

    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(_failures);

    public Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        if (token is not null)
        {
            throw new ArgumentException("The event streams are not rewindable: a message takes no sequence token.", nameof(token));
        }

        return Queue(_mapper.GetQueueForStream(streamId))
            .EnqueueAsync(new EventQueueMessage(streamId, [.. events.Cast<object>()], requestContext));
    }

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => new EventQueueReceiver(Queue(queueId), readWait);

    private IEventQueueGrain Queue(QueueId queueId) => grains.GetGrain<IEventQueueGrain>($"{name}/{queueId.GetNumericId()}");
}

/// <summary>
/// Reads one queue for its pulling agent. Each read acknowledges the one before it, so messages a read took but
/// never handed on (the agent stopped while it waited) are read again by the queue's next reader.
/// </summary>
internal sealed class EventQueueReceiver(IEventQueueGrain queue, TimeSpan wait) : IQueueAdapterReceiver
{
    private Guid _epoch;
    private long _after;
    private volatile bool _stopped;

    public Task Initialize(TimeSpan timeout) => Task.CompletedTask;

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount)
    {
        var max = maxCount is > 0 and < EventQueueStreams.MaxRead ? maxCount : EventQueueStreams.MaxRead;
        var read = await queue.ReadAsync(_epoch, _after, max, _stopped ? TimeSpan.Zero : wait);
        if (_stopped)
        {
            return []; // left for the next reader: nothing was acknowledged
        }

        _epoch = read.Epoch;
        if (read.Messages.Count > 0)
        {
            _after = read.Messages[^1].Seq;
        }

        return [.. read.Messages.Select(m => new EventQueueBatch(m))];
    }

    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

    /// <summary>Does not wait for a read in progress: what it returns is read again by the next reader.</summary>
    public Task Shutdown(TimeSpan timeout)
    {
        _stopped = true;
        return Task.CompletedTask;
    }
}

/// <summary>One queued message as the agent's cache and the consumers see it.</summary>
[GenerateSerializer, Alias("event-queue-batch.v1")]
internal sealed class EventQueueBatch(EventQueueMessage message) : IBatchContainer
{
    [Id(0)]
    private readonly EventQueueMessage _message = message;

    public StreamId StreamId => _message.StreamId;

    public StreamSequenceToken SequenceToken => new EventSequenceTokenV2(_message.Seq);

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>() =>
        _message.Items.OfType<T>().Select((item, i) => Tuple.Create(item, (StreamSequenceToken)new EventSequenceTokenV2(_message.Seq, i)));

    public bool ImportRequestContext()
    {
        if (_message.RequestContext is not { } context)
        {
            return false;
        }

        RequestContextExtensions.Import(context);
        return true;
    }
}
