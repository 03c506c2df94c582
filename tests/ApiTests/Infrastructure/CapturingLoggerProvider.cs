using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>One log line as every sink could see it: message, state fields, scopes and exception, all rendered.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, string Text, IReadOnlyDictionary<string, string> Scopes);

/// <summary>
/// Records everything a host logs, rendered as the most talkative sink would (formatted message, every state and
/// scope field, the full exception), so a test can search it for what must never be written.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLog> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<CapturedLog> Lines => _lines;

    /// <summary>A provider that records what <paramref name="server"/> logs once it starts.</summary>
    public static CapturingLoggerProvider On(ApiServer server)
    {
        var capture = new CapturingLoggerProvider();
        server.ConfigureHost = builder => builder.Logging.AddProvider(capture);
        return capture;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = new StringBuilder().Append(formatter(state, exception));
            AppendFields(text, state);
            var scopes = new Dictionary<string, string>(StringComparer.Ordinal);
            owner._scopes.ForEachScope((scope, builder) =>
            {
                builder.Append(" => ").Append(scope);
                if (scope is IEnumerable<KeyValuePair<string, object?>> fields)
                {
                    foreach (var (key, value) in fields)
                    {
                        scopes[key] = value?.ToString() ?? "";
                    }
                }

                AppendFields(builder, scope);
            }, text);
            if (exception is not null)
            {
                text.Append(' ').Append(exception);
            }

            owner._lines.Enqueue(new CapturedLog(category, logLevel, text.ToString(), scopes));
        }

        private static void AppendFields(StringBuilder text, object? state)
        {
            if (state is IEnumerable<KeyValuePair<string, object?>> fields)
            {
                foreach (var (key, value) in fields)
                {
                    text.Append(' ').Append(key).Append('=').Append(value);
                }
            }
        }
    }
}
