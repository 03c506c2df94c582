using System.Globalization;
using System.Text;
using System.Threading.Channels;
using ApiPlatform.Grains.Events;

namespace ApiPlatform.Gateway.Events;

/// <summary>
/// One SSE connection: its position in the owner's log, a bounded buffer of live events, and the loop that writes
/// them. Live events arrive from the owner's feed in log order; whenever the next one is not the one after the
/// position (a resume, or a buffer that overflowed while the client was slow) it reads from the log instead, so the
/// client gets every event after its start exactly once, in order.
/// </summary>
public sealed class EventSubscription : IAsyncDisposable
{
    private const int ReadBatch = 500;

    private readonly EventStreamHub _hub;
    private readonly IReadOnlySet<string>? _types;
    private readonly EventStreamOptions _options;
    private readonly Channel<EventEnvelope> _live;
    private OwnerFeed? _feed;
    private long _position;
    private int _overflowed;
    private bool _catchUp;

    internal EventSubscription(EventStreamHub hub, string ownerId, string credential, string connectionId, IReadOnlySet<string>? types,
        EventStreamOptions options)
    {
        _hub = hub;
        OwnerId = ownerId;
        Credential = credential;
        ConnectionId = connectionId;
        _types = types;
        _options = options;
        _live = Channel.CreateBounded<EventEnvelope>(new BoundedChannelOptions(options.ConnectionBuffer)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the overflow is noticed, never silent
        });
    }

    public string OwnerId { get; }

    public string Credential { get; }

    public string ConnectionId { get; }

    /// <summary>The position the connection started after (its first event is the one after it).</summary>
    public long StartedAfter { get; private set; }

    internal void Attach(OwnerFeed feed) => _feed = feed;

    internal void Start(OwnerFeed feed, long? resumeAfter, long committedHead)
    {
        // Without a resume point the stream starts now: after what the feed has passed on, or after the log's head at
        // connection if the owner's consumer has not passed that on yet (those events are older than the stream).
        _position = resumeAfter ?? Math.Max(feed.Position, committedHead);
        StartedAfter = _position;
        _catchUp = resumeAfter is not null;
    }

    internal void Offer(EventEnvelope e)
    {
        if (!_live.Writer.TryWrite(e))
        {
            Volatile.Write(ref _overflowed, 1);
        }
    }

    /// <summary>Writes the stream until the client goes away.</summary>
    public async Task RunAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await WriteAsync(response, "retry: 2000\n: connected\n\n", cancellationToken);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_catchUp || Volatile.Read(ref _overflowed) == 1)
            {
                await CatchUpAsync(response, cancellationToken);
                continue;
            }

            // Whatever is buffered goes out in one write and one flush; only an empty buffer waits (with the heartbeat).
            if (!_live.Reader.TryPeek(out _))
            {
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                heartbeat.CancelAfter(_options.Heartbeat);
                try
                {
                    if (!await _live.Reader.WaitToReadAsync(heartbeat.Token))
                    {
                        return; // the subscription was closed
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await WriteAsync(response, ": heartbeat\n\n", cancellationToken);
                    continue;
                }
            }

            var batch = new StringBuilder();
            while (!_catchUp && _live.Reader.TryRead(out var next))
            {
                if (next.Seq <= _position)
                {
                    continue;
                }

                if (next.Seq != _position + 1)
                {
                    _catchUp = true; // something between is missing here: the log has it
                    break;
                }

                Append(batch, next);
            }

            if (batch.Length > 0)
            {
                await WriteAsync(response, batch.ToString(), cancellationToken);
            }
        }
    }

    /// <summary>Writes what the log holds after the position, page by page, then returns to live events.</summary>
    private async Task CatchUpAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        // Whatever the buffer holds now is in the log as well: start it afresh, the read below covers it.
        Volatile.Write(ref _overflowed, 0);
        while (_live.Reader.TryRead(out _))
        {
        }

        while (true)
        {
            var events = await _hub.Log.ReadAfterAsync(OwnerId, _position, ReadBatch);
            var batch = new StringBuilder();
            foreach (var e in events)
            {
                Append(batch, e);
            }

            if (batch.Length > 0)
            {
                await WriteAsync(response, batch.ToString(), cancellationToken);
            }

            if (events.Count < ReadBatch)
            {
                break;
            }
        }

        _catchUp = false;
    }

    /// <summary>Moves the position past <paramref name="e"/> and adds its message (unless the type filter skips it).</summary>
    private void Append(StringBuilder message, EventEnvelope e)
    {
        _position = e.Seq;
        if (_types is not null && !_types.Contains(e.Type))
        {
            return;
        }

        message.Append("id: ").Append(e.Id).Append('\n');
        message.Append("event: ").Append(e.Type).Append('\n');
        // A JSON body can hold line breaks (whitespace a client sent in metadata): SSE carries each as its own data line.
        foreach (var line in e.Payload.Split(["\r\n", "\r", "\n"], StringSplitOptions.None))
        {
            message.Append("data: ").Append(line).Append('\n');
        }

        message.Append('\n');
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        if (_live.Writer.TryComplete())
        {
            _hub.Leave(_feed, this);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The position as text (diagnostics).</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{OwnerId}@{_position}");
}
