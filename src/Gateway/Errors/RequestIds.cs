namespace ApiPlatform.Gateway.Errors;

/// <summary>Every request gets a <c>req_</c> id, returned as <c>X-Request-Id</c> and in every problem.</summary>
public static class RequestIds
{
    public const string Header = "X-Request-Id";
    private static readonly object Key = new();

    public static string Get(HttpContext context)
    {
        if (context.Items.TryGetValue(Key, out var value) && value is string id)
        {
            return id;
        }

        id = "req_" + Grains.Ids.RandomToken(22);
        context.Items[Key] = id;
        return id;
    }
}
