using System.Reflection;
using System.Text.Json;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Endpoints;
using ApiPlatform.Gateway.Json;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// Turns the endpoints' metadata (<see cref="OpenApiExtensions"/>) into the document: required and non-nullable
/// properties from the records' nullability, parameter descriptions, query parameters handlers parse themselves,
/// examples from the records' <c>Example</c>, tag descriptions, and an explicit "no credential" on public operations.
/// </summary>
public static class OpenApiConventions
{
    public static SwaggerGenOptions AddPlatformConventions(this SwaggerGenOptions options)
    {
        // A non-nullable property is always present and never null: say so, so a generated client types it exactly.
        options.SupportNonNullableReferenceTypes();
        options.NonNullableReferenceTypesAsRequired();
        options.OperationFilter<ParameterAndSecurityFilter>();
        options.OperationFilter<OneOfResponseFilter>();
        options.SchemaFilter<ExampleSchemaFilter>();
        options.SchemaFilter<EnvelopeSchemaFilter>();
        options.DocumentFilter<TagDescriptionFilter>();
        return options;
    }

    /// <summary>The document names the server it was fetched from, so tools and Swagger UI call the right host.</summary>
    public static void NameServer(OpenApiDocument document, HttpRequest request) =>
        document.Servers = [new OpenApiServer { Url = $"{request.Scheme}://{request.Host}{request.PathBase}", Description = "This deployment." }];

    private sealed class ParameterAndSecurityFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
            if (!metadata.OfType<RequiresCallerMetadata>().Any())
            {
                // Public: an explicit empty requirement, rather than silence a reader cannot tell from an omission.
                operation.Security = [];
            }

            foreach (var query in metadata.OfType<QueryParameterDescription>())
            {
                operation.Parameters ??= [];
                if (operation.Parameters.All(p => p.Name != query.Name))
                {
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = query.Name,
                        In = ParameterLocation.Query,
                        Description = query.Description,
                        Schema = context.SchemaGenerator.GenerateSchema(query.Type, context.SchemaRepository),
                    });
                }
            }

            var descriptions = metadata.OfType<ParameterDescription>().GroupBy(d => d.Name).ToDictionary(g => g.Key, g => g.Last().Description);
            foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
            {
                if (string.IsNullOrEmpty(parameter.Description) && descriptions.TryGetValue(parameter.Name ?? "", out var description))
                {
                    parameter.Description = description;
                }
            }
        }
    }

    /// <summary>
    /// A success declared with <see cref="OpenApiExtensions.ProducesOneOf{TFirst,TSecond}"/>: its JSON body is a
    /// <c>oneOf</c> of the shapes (the API explorer keeps only one type per status), and the response says when each comes.
    /// </summary>
    private sealed class OneOfResponseFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            foreach (var oneOf in context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<OneOfResponseDescription>())
            {
                if (operation.Responses?.GetValueOrDefault(oneOf.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    is not OpenApiResponse response || response.Content is null)
                {
                    continue;
                }

                response.Description = oneOf.Description;
                foreach (var media in response.Content.Values.OfType<OpenApiMediaType>())
                {
                    media.Schema = new OpenApiSchema
                    {
                        OneOf = [.. oneOf.Types.Select(t => context.SchemaGenerator.GenerateSchema(t, context.SchemaRepository))],
                    };
                }
            }
        }
    }

    /// <summary>
    /// A record's example (<see cref="ApiExamples"/>, or its own <c>public static T Example</c>) becomes its schema's
    /// example, serialized exactly as the API writes it;
    /// envelopes of such records get an example built from their item's.
    /// </summary>
    private sealed class ExampleSchemaFilter : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is OpenApiSchema concrete && ExampleOf(context.Type) is { } example)
            {
                concrete.Examples = [JsonSerializer.SerializeToNode(example, context.Type, ApiJson.Options)!];
            }
        }

        private static object? ExampleOf(Type type)
        {
            if (ApiExamples.For(type) is { } registered)
            {
                return registered;
            }

            if (type.GetProperty("Example", BindingFlags.Public | BindingFlags.Static) is { } property && property.PropertyType == type)
            {
                return property.GetValue(null);
            }

            if (!type.IsGenericType || ExampleOf(type.GetGenericArguments()[0]) is not { } item)
            {
                return null;
            }

            var definition = type.GetGenericTypeDefinition();
            if (definition == typeof(DataEnvelope<>))
            {
                return Activator.CreateInstance(type, item);
            }

            if (definition == typeof(ListEnvelope<>))
            {
                var items = Array.CreateInstance(type.GetGenericArguments()[0], 1);
                items.SetValue(item, 0);
                return Activator.CreateInstance(type, items, PageMeta.Of(1, Endpoints.Paging.DefaultPerPage, 1));
            }

            return null;
        }
    }

    /// <summary>
    /// An envelope always has its <c>data</c> (and a list its <c>meta</c>); the nullability of a generic parameter is
    /// invisible to the schema generator, so it is stated here.
    /// </summary>
    private sealed class EnvelopeSchemaFilter : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is not OpenApiSchema concrete || !context.Type.IsGenericType)
            {
                return;
            }

            var definition = context.Type.GetGenericTypeDefinition();
            if (definition == typeof(DataEnvelope<>) || definition == typeof(ListEnvelope<>))
            {
                concrete.Required ??= new HashSet<string>();
                concrete.Required.Add("data");
                if (definition == typeof(ListEnvelope<>))
                {
                    concrete.Required.Add("meta");
                }
            }
        }
    }

    private sealed class TagDescriptionFilter : IDocumentFilter
    {
        public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
        {
            var used = swaggerDoc.Paths.Values.SelectMany(p => (IEnumerable<OpenApiOperation>?)p.Operations?.Values ?? []).SelectMany(o => (IEnumerable<OpenApiTagReference>?)o.Tags ?? [])
                .Select(t => t.Name).OfType<string>().Distinct().Order(StringComparer.Ordinal);
            swaggerDoc.Tags = new HashSet<OpenApiTag>(used.Select(name => new OpenApiTag
            {
                Name = name,
                // A tag without a description fails the lint: add it to ApiTags.Descriptions.
                Description = ApiTags.Descriptions.GetValueOrDefault(name),
            }));
        }
    }
}
