package io.floodgate.http;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderLog;
import io.floodgate.direct.GroupCommitOrderLog;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.UUID;

/**
 * The same answers as {@link HelidonFloor}, on Netty directly (issue 14 asks for an alternative
 * HTTP layer measured on the same work before the framework's floor is called the end): {@code GET
 * /health/live} writes the same bytes; {@code POST /api/v1/orders} reads the body (aggregated up
 * to 16 KiB) and, for the item {@code GONE}, answers the same 409 problem with a fresh request id;
 * any other item is a durable order through the same group commit into the same SQLite store,
 * handed from the event loop to a virtual thread (the group commit blocks) and answered 201 from
 * there. Responses carry the headers Helidon's do (Date, Content-Type, Content-Length), so the bytes
 * on the wire match.
 *
 * <p>One event loop per core, as Netty's servers are usually set up for a CPU-bound job; the
 * transport is the native epoll one by default, or {@code nio}. With {@code -vt} after it
 * ({@code epoll-vt}), every order is answered from a virtual thread of its own, as Floodgate's
 * design would have it on Netty (one virtual thread per request, whose ledger call may block on
 * Redis): the price of that hop is then in the 409 too.
 *
 * <p>Not a test: {@code java -cp <test class path> io.floodgate.http.NettyFloor [PORT [DATA_DIR
 * [epoll|nio|epoll-vt|nio-vt]]]}. Prints {@code listening on http://127.0.0.1:PORT} and runs until killed.
 */
public final class NettyFloor {

        private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME;
    /** The Date header, formatted once a second at most (as servers do), not per answer. */
    private static volatile long dateSecond;
    private static volatile String date = "";

    private NettyFloor() {
    }

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        Path data = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("floodgate-floor-");
        String mode = args.length > 2 ? args[2] : "epoll";
        boolean nio = mode.startsWith("nio");
        boolean hop = mode.endsWith("-vt");
        GroupCommitOrderLog log = HelidonFloor.durableLog(data);

        IoHandlerFactory io = nio ? NioIoHandler.newFactory() : EpollIoHandler.newFactory();
        Class<? extends ServerChannel> channel = nio ? NioServerSocketChannel.class : EpollServerSocketChannel.class;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(), io);
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(channel)
                .option(ChannelOption.SO_BACKLOG, 8_192)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpServerKeepAliveHandler(),
                                new HttpObjectAggregator(16_384), new Answers(log, hop));
                    }
                })
                .bind("127.0.0.1", port).sync().channel();
        int bound = ((java.net.InetSocketAddress) server.localAddress()).getPort();
        System.out.println("Netty floor (" + mode + ") listening on http://127.0.0.1:" + bound);
        server.closeFuture().sync();
    }

    private static final class Answers extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final GroupCommitOrderLog log;
        private final boolean hop;

        Answers(GroupCommitOrderLog log, boolean hop) {
            this.log = log;
            this.hop = hop;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (req.method() == HttpMethod.GET && req.uri().equals("/health/live")) {
                ctx.writeAndFlush(answer(HttpResponseStatus.OK, "application/json", HelidonFloor.UP, keepAlive));
                return;
            }
            if (req.method() != HttpMethod.POST || !req.uri().equals("/api/v1/orders")) {
                ctx.writeAndFlush(answer(HttpResponseStatus.NOT_FOUND, "text/plain", new byte[0], keepAlive));
                return;
            }
            String body = req.content().toString(StandardCharsets.ISO_8859_1);
            String key = req.headers().get("Idempotency-Key");
            if (hop) {
                Thread.ofVirtual().start(() -> order(ctx, body, key, keepAlive));
            } else {
                order(ctx, body, key, keepAlive);
            }
        }

        /** Answers an order: 409 for the sold-out item, else stored by the group commit (blocking) and 201. */
        private void order(ChannelHandlerContext ctx, String body, String key, boolean keepAlive) {
            String requestId = UUID.randomUUID().toString();
            if (body.contains(HelidonFloor.SOLD_OUT_SKU)) {
                ctx.writeAndFlush(answer(HttpResponseStatus.CONFLICT, "application/problem+json",
                        HelidonFloor.soldOut(requestId), keepAlive));
                return;
            }
            if (!hop) { // the group commit blocks until the order is stored: not on the event loop
                Thread.ofVirtual().start(() -> store(ctx, key == null ? requestId : key, requestId, keepAlive));
            } else {
                store(ctx, key == null ? requestId : key, requestId, keepAlive);
            }
        }

        private void store(ChannelHandlerContext ctx, String key, String requestId, boolean keepAlive) {
            long now = System.currentTimeMillis();
            Order order = new Order(OrderIds.next(now), HelidonFloor.STOCKED, "u" + key, 1, OrderStatus.CONFIRMED,
                    Instant.ofEpochMilli(now), requestId, key);
            ctx.writeAndFlush(log.append(order, Deadline.after(Duration.ofSeconds(5)), HelidonFloor.NO_LATE_FATE)
                    instanceof OrderLog.AppendOutcome.Stored
                    ? answer(HttpResponseStatus.CREATED, "application/json", HelidonFloor.placed(order), keepAlive)
                    : answer(HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain", new byte[0], keepAlive));
        }
    }

    private static FullHttpResponse answer(HttpResponseStatus status, String type, byte[] body, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        response.headers()
                .set(HttpHeaderNames.DATE, date())
                .set(HttpHeaderNames.CONTENT_TYPE, type)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        return response;
    }

    private static String date() {
        long second = System.currentTimeMillis() / 1000;
        if (second != dateSecond) {
            date = HTTP_DATE.format(ZonedDateTime.ofInstant(Instant.ofEpochSecond(second), ZoneOffset.UTC));
            dateSecond = second;
        }
        return date;
    }
}
