using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Resources;

/// <summary>Resource rules (configuration section <c>Resources</c>), read by the gateway and the grains alike.</summary>
public sealed class ResourceOptions
{
    public const string Section = "Resources";

    /// <summary>Largest stored resource document (bytes of its JSON) for types that set no <c>max_bytes</c>.</summary>
    public int MaxDocumentBytes { get; set; } = 8 * 1024;

    /// <summary>The most a type's <c>max_bytes</c> may allow; also the request body limit of resource writes.</summary>
    public int MaxDocumentBytesLimit { get; set; } = 64 * 1024;

    /// <summary>True: a resource's type must be declared (400 otherwise).</summary>
    public bool RequireDeclaredTypes { get; set; }

    /// <summary>True: every PUT, PATCH and DELETE of a resource needs If-Match (428 otherwise).</summary>
    public bool RequireIfMatch { get; set; }

    /// <summary>Resources re-indexed per transaction when a type's indexes change.</summary>
    public int IndexBuildBatchSize { get; set; } = 500;

    /// <summary>How often each silo looks for types to re-index when nothing woke it.</summary>
    public TimeSpan IndexBuildPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The cap of a type's documents: its own, or the default.</summary>
    public int CapOf(ResourceTypeView? type) => type?.MaxBytes ?? MaxDocumentBytes;
}

/// <summary>Checks <see cref="ResourceOptions"/> at start-up.</summary>
public sealed class ResourceOptionsValidator : IValidateOptions<ResourceOptions>
{
    /// <summary>Below this a document could not hold its own id and timestamps.</summary>
    public const int MinDocumentBytes = 1024;

    public ValidateOptionsResult Validate(string? name, ResourceOptions options)
    {
        var errors = new List<string>();
        if (options.MaxDocumentBytes < MinDocumentBytes || options.MaxDocumentBytes > options.MaxDocumentBytesLimit)
        {
            errors.Add($"Resources:MaxDocumentBytes must be between {MinDocumentBytes} and Resources:MaxDocumentBytesLimit.");
        }

        if (options.MaxDocumentBytesLimit > 16 * 1024 * 1024)
        {
            errors.Add("Resources:MaxDocumentBytesLimit must be at most 16 MiB.");
        }

        if (options.IndexBuildBatchSize is < 1 or > 10_000)
        {
            errors.Add("Resources:IndexBuildBatchSize must be between 1 and 10000.");
        }

        if (options.IndexBuildPollInterval <= TimeSpan.Zero)
        {
            errors.Add("Resources:IndexBuildPollInterval must be positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
